"""Figures (matplotlib, drawn on ``matplotlib.figure.Figure`` objects so no GUI backend
is needed). One module per area: :mod:`.uv`, ... Each function returns the Figure; save it
with ``fig.savefig(path)``."""
