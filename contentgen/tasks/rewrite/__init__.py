"""广告法改写 (a compliant version of a flagged text).

- task.py: request and prompt
"""

from contentgen.tasks.rewrite.task import TASK, RewriteRequest

__all__ = ['TASK', 'RewriteRequest']
