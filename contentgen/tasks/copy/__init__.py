"""营销文案 (copy for six platforms).

- task.py: request, prompt, decoding, pick, second round, batch columns, training rows
- checks.py: the verifier (names, facts, invented claims, wording, length, format, repeats)
- repair.py: a draft put into its platform's frame, and its parts
"""

from contentgen.tasks.copy.task import TASK, CopyRequest

__all__ = ['TASK', 'CopyRequest']
