"""The offline demo: the bundled synthetic corpus, a local replay server that speaks the real
Reddit API and real RSS/HTML, and the runner behind `make demo` / `make airflow`.

It lives outside the product packages and out of the wheel: nothing in the pipeline knows it is a
demo; it only points the sources at the replay server through ``config/demo.toml``.
"""
