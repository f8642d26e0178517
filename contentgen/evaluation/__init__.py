"""Evaluation inside the package: `metrics` (the published metrics), `evaluate` (a task on a labelled
file), `runs` (what `contentgen eval` runs: copy briefs and grounded replies through the whole service)."""

# Evaluations of the whole service besides the trainable tasks (`contentgen eval --task`).
BRIEF_TASK = "copy-briefs"
REPLY_TASK = "reply-grounded"
RUNS = (BRIEF_TASK, REPLY_TASK)
