"""客服回复 (support replies grounded in the FAQ).

- task.py: request, prompt, retrieval, answering entry, handoff, batch columns
- checks.py: the reply verifier and the 转人工 rules
- knowledge.py: the FAQ index (BM25 over words and character pairs) and FAQ file parsing
- support_synonyms.txt: customer words and FAQ words that mean the same
"""

from contentgen.tasks.reply.task import TASK, ReplyRequest

__all__ = ['TASK', 'ReplyRequest']
