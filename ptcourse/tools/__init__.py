"""The maintainer's and the instructor's tools: build the student notebooks, execute the solutions, grade.

Run from a clone of the course repository (they read `solutions/` and `notebooks/`):
`python -m ptcourse.tools.build`, `python -m ptcourse.tools.execute`, `python -m ptcourse.tools.grade`.
"""
