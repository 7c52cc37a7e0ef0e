"""`python -m demo` (what `make demo` runs) and `python -m demo ui` (`make airflow`)."""

from demo.run import main

raise SystemExit(main())
