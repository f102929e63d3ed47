"""What the demo shows while images flow: per-image counters and the final table."""

from __future__ import annotations

__all__ = ["ImageProgress", "format_table"]

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class ImageProgress:
    """Events seen for one image (times are SAL TAI seconds)."""

    obsid: str
    expected: int
    end_of_image: float | None = None
    written: int = 0
    capture_failed: int = 0
    in_oods: int = 0
    oods_failed: int = 0
    last_in_oods: float | None = None
    bytes_written: int = 0
    archived_status: int | None = None
    archived_description: str = ""
    missing: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def latency(self) -> float | None:
        """endOfImageTelemetry to the last imageInOODS (s), once every file is in the OODS."""
        if self.end_of_image is None or self.last_in_oods is None or self.in_oods < self.expected:
            return None
        return self.last_in_oods - self.end_of_image

    @property
    def status(self) -> str:
        """OK, INCOMPLETE or in progress."""
        if self.archived_status is None:
            return "in progress"
        return "OK" if self.archived_status == 0 else f"INCOMPLETE ({self.missing or 'see log'})"

    def line(self) -> str:
        """One progress line."""
        text = f"{self.obsid}: written {self.written}/{self.expected}, in OODS {self.in_oods}/{self.expected}"
        if self.capture_failed or self.oods_failed:
            text += f", failed {self.capture_failed + self.oods_failed}"
        if self.archived_status is not None:
            text += f", archived in DBB: {self.status}"
        return text


def format_table(images: Sequence[ImageProgress]) -> str:
    """The per-image summary table."""
    header = ("image", "detectors", "MB written", "latency (s)", "status")
    rows = [header]
    for image in images:
        latency = image.latency
        rows.append(
            (
                image.obsid,
                f"{image.written}/{image.expected}",
                f"{image.bytes_written / 1e6:.1f}",
                f"{latency:.2f}" if latency is not None else "-",
                image.status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
