"""qa-scoring: on-premises quality assurance for contact-centre calls."""

__version__ = "0.1.0"
