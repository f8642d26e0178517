"""对话 (a caller-written conversation: the OpenAI-compatible route).

- task.py: request and conversation
"""

from contentgen.tasks.chat.task import TASK, ChatRequest

__all__ = ['TASK', 'ChatRequest']
