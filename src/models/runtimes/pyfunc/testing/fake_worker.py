"""A stand-in for worker.py in PyfuncWorker's spec: the same frames (it uses
worker.py's own framing), no MLflow. Behaves as argv[1] says:

- echo: ready, then answers each predict with its inputs as outputs
- missing-module: answers an import error instead of ready
- crash: ready, then exits with code 3 on the first predict
- hang: ready, then never answers a predict
- garbage: ready, then writes bytes that are not a frame
- log: writes two lines to stderr, then behaves as echo
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import worker  # noqa: E402  (takes fd 1 for frames, as in production)


def main(mode):
    if mode == "missing-module":
        worker.write_frame({"type": "error", "kind": "import", "module": "absent_pkg", "message": "No module named 'absent_pkg'"})
        sys.exit(1)
    if mode == "log":
        print("first line", file=sys.stderr)
        print("second line")  # stdout is the log too: frames have their own descriptor
    worker.write_frame({"type": "ready", "pid": os.getpid(), "params": False})
    while True:
        frame = worker.read_frame()
        if frame is None:
            return
        header, buffers = frame
        if mode == "crash":
            sys.exit(3)
        if mode == "hang":
            continue
        if mode == "garbage":
            worker._FRAMES_OUT.write(b"\xff" * 16)
            worker._FRAMES_OUT.flush()
            continue
        outputs = [dict(t, name=f"echo_{t['name']}") for t in header["inputs"]]
        reply = {"type": "result", "id": header["id"], "form": "list", "outputs": outputs, "params": header.get("params")}
        worker.write_frame(reply, buffers)


if __name__ == "__main__":
    main(sys.argv[1])
