"""PyTorch basics, as runnable notebooks: the course package.

- `ptcourse.lessons`  what the lesson notebooks import: spawn-safe datasets, samplers, collate functions,
                      display and timing helpers, and where the data are (`ptcourse.lessons.paths.DATA`);
- `ptcourse.checks`   the exercise checks, one module per lesson;
- `ptcourse.tools`    the maintainer's and instructor's tools: build, execute, grade (run from a clone).
"""
from ptcourse.i18n import language, set_language

__version__ = "0.2.0"
__all__ = ["language", "set_language", "__version__"]
