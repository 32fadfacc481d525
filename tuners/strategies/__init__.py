"""The search strategies: what each is (its spec), the oracle that chooses its trials, and the policies every
oracle enforces."""
