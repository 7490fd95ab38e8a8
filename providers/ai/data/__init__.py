"""Data files shipped with the AI providers (the cl100k_base tokenizer ranks, see ``providers.ai.tokens``)."""
