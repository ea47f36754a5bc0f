"""The fixture notebook is run by the report tests with parameters; nbval (``make test``) must not run it alone."""

collect_ignore = ["fixture_report.ipynb"]
