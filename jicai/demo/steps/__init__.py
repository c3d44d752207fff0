"""Demo generator steps. Each step is a function of the shared DemoContext; runner.STEPS orders them."""

BATCH_SIZE = 1000
