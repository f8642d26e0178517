"""情感标签 (positive / neutral / negative, and aspects).

- task.py: request, prompt, label words, batch columns
- aspects.py + aspects.csv: aspects and their keywords per industry
- head.py: the linear head over the hidden state, with its n-gram scorer
- insight.py: opinion phrases per aspect, complaint topics, the XLSX report
"""

from contentgen.tasks.sentiment.task import TASK, TagRequest

__all__ = ['TASK', 'TagRequest']
