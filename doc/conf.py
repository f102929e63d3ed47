"""Sphinx configuration for ts_archiver."""

project = "ts_archiver"
author = "ts_archiver developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
