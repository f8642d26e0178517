"""商品标题 (product titles).

- task.py: request, prompt, title width, pick
"""

from contentgen.tasks.title.task import TASK, TitleRequest

__all__ = ['TASK', 'TitleRequest']
