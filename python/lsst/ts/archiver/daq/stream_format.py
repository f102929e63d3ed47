"""The DAQ packed-pixel stream format, per REB kind.

A source is a stream of little-endian 32-bit words. For every pixel clock
("sample") the REB sends one 18-bit value per channel; the values of the
``n_ccds * 16`` channels follow each other, packed LSB-first, so 16 values
fill exactly 9 words and one sample of one CCD is 36 bytes. Each stored
value is the ADC value XOR a constant (`StreamLayout.xor`).

Which channel belongs to which detector and amplifier differs between REB
kinds; `StreamLayout` holds that map as data. Every amplifier's values come
out in readout order, which is the FITS pixel order of that amplifier.
"""

from __future__ import annotations

__all__ = [
    "BITS_PER_VALUE",
    "CHANNELS_PER_CCD",
    "GUIDER_XOR",
    "SCIENCE_XOR",
    "VALUE_MASK",
    "WORDS_PER_CCD_SAMPLE",
    "StreamLayout",
    "stream_layout",
]

from dataclasses import dataclass

from ..camera import RebKind

BITS_PER_VALUE = 18
"""ADC sample width."""
VALUE_MASK = (1 << BITS_PER_VALUE) - 1
"""Mask of one 18-bit value (``0x3FFFF``)."""
CHANNELS_PER_CCD = 16
"""Channels (amplifiers) per 36-byte sample group."""
WORDS_PER_CCD_SAMPLE = CHANNELS_PER_CCD * BITS_PER_VALUE // 32
"""32-bit words per sample group of 16 values (9)."""
SCIENCE_XOR = 0x1FFFF
"""Scrambling constant of science REBs."""
GUIDER_XOR = 0x20000
"""Scrambling constant of guider, wavefront and WREB sources."""


@dataclass(frozen=True)
class StreamLayout:
    """How one REB kind lays out its channels in the packed stream.

    Parameters
    ----------
    kind : `RebKind`
        The REB kind.
    xor : `int`
        Scrambling constant XORed into every stored value.
    channel_targets : `tuple` [`tuple` [`int`, `int`], ...]
        For each channel of one sample, in stream order, the pair
        ``(detector index in Reb.detectors, amplifier index in FITS HDU order)``.
    amps_per_detector : `int`
        Amplifiers per detector (16; 8 for wavefront halves).
    """

    kind: RebKind
    xor: int
    channel_targets: tuple[tuple[int, int], ...]
    amps_per_detector: int

    @property
    def n_channels(self) -> int:
        """Channels per sample (48, 32 or 16)."""
        return len(self.channel_targets)

    @property
    def n_groups(self) -> int:
        """16-channel groups (9 words each) per sample."""
        return self.n_channels // CHANNELS_PER_CCD

    @property
    def n_detectors(self) -> int:
        """Detectors in the source."""
        return 1 + max(d for d, _ in self.channel_targets)

    @property
    def words_per_sample(self) -> int:
        """32-bit words per sample (27, 18 or 9)."""
        return self.n_groups * WORDS_PER_CCD_SAMPLE

    @property
    def bytes_per_sample(self) -> int:
        """Bytes per sample (108, 72 or 36)."""
        return 4 * self.words_per_sample

    def packed_size(self, n_samples: int) -> int:
        """Bytes of packed data for ``n_samples`` pixel clocks."""
        return n_samples * self.bytes_per_sample

    def flat_targets(self) -> tuple[int, ...]:
        """Channel targets as indices into ``(n_detectors * amps_per_detector)``."""
        return tuple(d * self.amps_per_detector + a for d, a in self.channel_targets)


def _science_amp(channel: int) -> int:
    # DAQ channels S00..S07, S10..S17 -> HDU order Segment10..17, 07..00.
    return channel - 8 if channel >= 8 else 15 - channel


def _build() -> dict[RebKind, StreamLayout]:
    science = tuple((det, _science_amp(ch)) for det in (2, 1, 0) for ch in range(16))
    guider = tuple((det, ch) for det in (1, 0) for ch in range(16))
    wavefront = tuple((ch // 8, ch % 8) for ch in range(16))
    # WREB: channels 0..7 -> Segment00..07, 8..15 -> Segment17..10; both are 15 - channel.
    wreb = tuple((0, 15 - ch) for ch in range(16))
    return {
        RebKind.SCIENCE: StreamLayout(RebKind.SCIENCE, SCIENCE_XOR, science, 16),
        RebKind.GUIDER: StreamLayout(RebKind.GUIDER, GUIDER_XOR, guider, 16),
        RebKind.WAVEFRONT: StreamLayout(RebKind.WAVEFRONT, GUIDER_XOR, wavefront, 8),
        RebKind.WREB: StreamLayout(RebKind.WREB, GUIDER_XOR, wreb, 16),
    }


_LAYOUTS = _build()


def stream_layout(kind: RebKind) -> StreamLayout:
    """Return the stream layout of a REB kind."""
    return _LAYOUTS[kind]
