"""``tools/predict.py`` on videos whose header promises more frames than decode (later frames damaged; a
download cut short): each is predicted from its readable frames, and the output says so (printed
warning, ``warning`` in the JSON result)."""
import json
import re
import struct
from pathlib import Path

import numpy as np
from deploy_helpers import run_tool, write_video


def corrupt_frames_from(path: Path, first: int) -> None:
    """Zero the JPEG data of frames ``first..`` of an MJPG .avi, keeping each chunk's size and the
    index, so the header still lists every frame but only the first ``first`` decode."""
    data = bytearray(path.read_bytes())
    chunks = list(re.finditer(rb"00dc(.{4})\xff\xd8", bytes(data), re.S))  # frame chunk + JPEG SOI
    assert len(chunks) > first, f"{path} has {len(chunks)} frames"
    for match in chunks[first:]:
        size = struct.unpack("<I", match.group(1))[0]
        start = match.start() + 10  # after '00dc', the size and the SOI marker
        data[start:match.start() + 8 + size] = bytes(size - 2)
    path.write_bytes(bytes(data))


EXAMPLE_VIDEO = Path(__file__).resolve().parents[2] / "data" / "example" / "BrushingTeeth.avi"


def test_truncated_video_is_predicted_with_a_warning(tiny, exported, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    good = write_video(videos / "good.avi", num_frames=20, seed=1)
    damaged = write_video(videos / "damaged.avi", num_frames=20, seed=2)
    corrupt_frames_from(damaged, 10)
    cut = videos / "cut.avi"  # the first 20 kB of a 175-frame UCF101 clip: no index, 3 frames
    cut.write_bytes(EXAMPLE_VIDEO.read_bytes()[:20_000])
    out_json = tmp_path / "out.json"
    proc = run_tool("predict.py", "-c", str(tiny["config"]), "-i", str(videos),
                    "--model_file", str(exported["json"]), "--params_file", str(exported["params"]),
                    "--batch_size", "2", "--json", str(out_json))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # 4 frames sampled from 20 fail at frame 12; the Sampler retries within the first 10
    warning = (f"{damaged}: truncated or damaged video: its header promises 20 frames but only 10 were "
               f"readable; the scores come from those frames only")
    cut_warning = (f"{cut}: truncated or damaged video: its header promises 175 frames but only 3 were "
                   f"readable; the scores come from those frames only")
    assert f"Current video file: {damaged}\n\twarning: {warning}\n\ttop-1 class: [" in out
    assert f"Current video file: {cut}\n\twarning: {cut_warning}\n\ttop-1 class: [" in out
    assert f"Current video file: {good}\n\ttop-1 class: [" in out and out.count("\twarning: ") == 2
    assert "Predicted 3 of 3 videos; 2 from part of the video only (see the warnings)" in out

    results = {r["file"]: r for r in json.loads(out_json.read_text())["results"]}
    assert results[str(damaged)]["warning"] == warning and results[str(good)]["warning"] is None
    assert results[str(cut)]["warning"] == cut_warning
    scores = np.asarray(results[str(damaged)]["scores"])
    assert scores.shape == (4,) and abs(scores.sum() - 1) < 1e-5
