"""Use cases: what the faces call. `service.ContentService` runs the generation pipeline for any task;
beside it, one module per concern (support desk, sentiment, rewrite, history, rules, FAQ, batch jobs,
training runs, alerts, accounts, feedback)."""
