"""Shared basics every other package builds on: typed settings, the run context, the document
contract, atomic JSON Lines files, per-document outcomes, source-run records and CLI helpers.

Why a package of its own: it imports nothing else of ours, so extractors, transforms, quality,
warehouse and reports can all depend on it without depending on each other or on orchestration
(``pipeline``). ``tests/test_layering.py`` enforces that.
"""
