"""Payment card numbers in transcript text (PCI DSS: an agent must not read a full card number back).

A card number is 13-19 digits that pass the Luhn checksum. Customers and agents say them as
digits or words ("four nine two nine, five two six oh, ..."), so the digits come from the shared
spoken-number normaliser. A run longer than a card (a card number said straight into its expiry
date, say) is searched for 15- or 16-digit windows that start with a card issuer digit (3-6) and
pass Luhn; requiring the issuer digit keeps random long digit strings from matching one time in ten.
"""

from __future__ import annotations

from dataclasses import dataclass

from qa_scoring.spoken_numbers import digit_runs, luhn_valid

MIN_LEN, MAX_LEN = 13, 19


@dataclass(frozen=True)
class CardMatch:
    """A Luhn-valid card number: its digits and the character span of the run it was found in."""

    digits: str
    start: int
    end: int

    @property
    def masked(self) -> str:
        """Safe to show: only the last four digits, as PCI DSS allows."""
        return "*" * (len(self.digits) - 4) + self.digits[-4:]


def find_card_numbers(text: str) -> list[CardMatch]:
    """Every Luhn-valid card number spoken or written in ``text``."""
    found: list[CardMatch] = []
    for run in digit_runs(text):
        digits = run.digits
        if MIN_LEN <= len(digits) <= MAX_LEN:
            if luhn_valid(digits):
                found.append(CardMatch(digits, run.start, run.end))
            continue
        if len(digits) > MAX_LEN:
            for length in (16, 15):
                hit = next(
                    (
                        digits[i : i + length]
                        for i in range(len(digits) - length + 1)
                        if digits[i] in "3456" and luhn_valid(digits[i : i + length])
                    ),
                    None,
                )
                if hit:
                    found.append(CardMatch(hit, run.start, run.end))
                    break
    return found
