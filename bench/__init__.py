"""sharpdyn's benchmark suite: ``python -m bench [--quick] [--only AREA ...] [--out DIR]``.

Each ``bench_*.py`` module is one area (see :data:`bench.suite.AREAS`) exposing
``suite(ctx) -> Report``."""
