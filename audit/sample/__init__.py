"""Sample refund logs with known ground truth (`refund-audit sample`)."""

from audit.sample.generator import SampleSpec, generate, write_sample

__all__ = ["SampleSpec", "generate", "write_sample"]
