"""Review rules: which calls a human looks at, and why.

``selection`` holds the one rule (reasons, wording, priority, the random sample) and needs no
store; ``batch_pass`` applies it to stored calls and runs the end-of-batch share cap and top-up.
"""
