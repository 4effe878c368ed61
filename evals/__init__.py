"""wardround evals."""
