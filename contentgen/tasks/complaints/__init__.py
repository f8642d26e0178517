"""差评主题摘要 (one sentence per complaint topic).

- task.py: request and prompt
"""

from contentgen.tasks.complaints.task import TASK, ComplaintsRequest

__all__ = ['TASK', 'ComplaintsRequest']
