"""Camera and Header Service simulators (SAL components) and the simulated system.

* `CameraSimulatorCsc` -- ATCamera/CCCamera/MTCamera: ``takeImages`` writes
  images into a DAQ store emulator and publishes the image-sequence events.
* `HeaderServiceSimulatorCsc` -- AT/CC/MTHeaderService: writes one header
  YAML file per image and publishes ``largeFileObjectAvailable``.
* `start_simulated_system` -- both, plus the DAQ emulator, in one process.

Examples
--------
>>> from lsst.ts.archiver.simulators import start_simulated_system
>>> system = await start_simulated_system("LSSTComCam", "/tmp/demo")  # doctest: +SKIP
>>> names = await system.take_images(2, exp_time=1.0)  # doctest: +SKIP
"""

from .camera_csc import *  # noqa: F403
from .daq_writer import *  # noqa: F403
from .header_content import *  # noqa: F403
from .header_faults import *  # noqa: F403
from .header_service_csc import *  # noqa: F403
from .header_store import *  # noqa: F403
from .image_counter import *  # noqa: F403
from .image_events import *  # noqa: F403
from .key_values import *  # noqa: F403
from .observatory import *  # noqa: F403
from .system import *  # noqa: F403
