# Loaded before every suite's own conftest: the project's tools come first on PATH for all of them.
from projectenv import use_project_tools

use_project_tools()
