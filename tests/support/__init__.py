"""Test helpers shared by the suites (and bench/ui_bench.py); no tests here.

- `rows`: trace rows built as the writer builds them (an Exchange through ingest/row.py's build_row);
- `sample`: the UI tests' sample database; `bulk`: the UI bench's 100k-trace database;
- `prompts`: templated prompts recorded as chat calls, for grouping; `insights_seed`: the insights
  tests' hand-computed database;
- `proxy`: a real proxy started through the CLI, and an app runner (fixtures in tests/conftest.py);
- `upstream`: the simulator's recorded streams and a client that times what it receives;
  `streams`: a recorded stream through analyze(); `ui`: Datasette pages in-process.
"""
