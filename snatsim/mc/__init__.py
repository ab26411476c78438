"""Vectorized numpy Monte Carlo over the kernel's algorithms (STYLE.md "Layout"; numpy only)."""
