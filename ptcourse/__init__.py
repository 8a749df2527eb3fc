"""Helpers for the PyTorch basics course: exercise checks, notebook tooling and lesson modules."""
