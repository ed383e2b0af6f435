"""sharpdyn.torch without PyTorch installed: a clear ImportError naming the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from test_without_optional_deps import BLOCKER


def test_import_without_torch_names_the_extra():
    code = BLOCKER + textwrap.dedent(
        """
        import sharpdyn
        try:
            import sharpdyn.torch
        except ImportError as exc:
            print("MSG", exc)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "pip install sharpdyn[torch]" in res.stdout


def test_data_loaders_without_torch_or_sklearn():
    code = BLOCKER + textwrap.dedent(
        """
        from sharpdyn import data
        X, Y = data.load("synthetic", n=5, d=3)
        assert X.shape == (5, 3) and Y.shape == (5, 1)
        try:
            data.load("digits")
        except ImportError as exc:
            print("MSG", exc)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "scikit-learn" in res.stdout
