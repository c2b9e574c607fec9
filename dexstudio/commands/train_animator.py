"""``dexstudio train animator DATA_DIR --motion CKPT``: train the DeX diffusion animator."""

from __future__ import annotations

import argparse
import dataclasses

from dexstudio.commands._train_common import (
    TrainArgumentError,
    add_common_arguments,
    config_from,
    load_config_data,
    progress_printer,
    train_overrides,
)


def register_train(train_sub: argparse._SubParsersAction) -> None:
    p = train_sub.add_parser(
        "animator", help="train the DeX diffusion animator (stage 1 pairs, stage 2 temporal windows)",
        description="Train the DeX diffusion animator on the clips in DATA_DIR, with driving signals "
                    "from a trained motion model. Checkpoints in OUT/checkpoints are animator "
                    "checkpoints the app loads (DEXSTUDIO_DEX_CHECKPOINT). Rerun to resume.")
    add_common_arguments(p, "dexstudio-runs/animator")
    p.add_argument("--motion",
                   help="motion-model checkpoint (or its training output folder) from `dexstudio train motion`: "
                        "its encoders label the training frames")
    p.add_argument("--labels", choices=("motion", "tracker"), default=None,
                   help="driving signals: 'motion' (the --motion model, the default when given) or "
                        "'tracker' (the app's own MediaPipe extraction; needs real faces)")
    p.add_argument("--stage", type=int, choices=(1, 2), help="1 = frame pairs (default), 2 = temporal windows")
    p.add_argument("--window", type=int, help="frames per window in stage 2 (default 8)")
    p.add_argument("--init-from", dest="init_from", help="DeX checkpoint to start from (stage 1 for stage 2)")
    p.add_argument("--vae", dest="vae_path", help="diffusers AutoencoderKL folder to use (e.g. SD-1.5's vae)")
    p.add_argument("--init-sd15", dest="sd15_path",
                   help="local diffusers Stable Diffusion 1.5 folder: its UNet (and VAE) weights initialise "
                        "both UNets (full-size training; nothing is downloaded)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dexstudio.render.dex.config import DexConfig
    from dexstudio.render.dex.motion_net import load_motion_net
    from dexstudio.render.dex.train.animator_trainer import (
        AnimatorTrainConfig,
        AnimatorTrainer,
        MotionLabels,
        TrackerLabels,
    )
    from dexstudio.render.dex.train.data import VideoFolderDataset

    data = load_config_data(args)
    if data is not None:
        cfg = config_from(AnimatorTrainConfig, data)
    else:
        cfg = AnimatorTrainConfig(model=DexConfig.tiny() if args.preset == "tiny" else DexConfig.sd15())
    cfg = cfg.replace_train(**train_overrides(args))
    extra = {k: getattr(args, k) for k in ("stage", "window", "init_from", "vae_path", "sd15_path") if getattr(args, k)}
    cfg = dataclasses.replace(cfg, **extra)
    report = progress_printer(args.quiet)
    source = args.labels or ("motion" if args.motion else "tracker")
    if source == "motion" and not args.motion:
        raise TrainArgumentError("--labels motion needs --motion MOTION_CKPT",
                                 "train one with `dexstudio train motion DATA_DIR`, or use --labels tracker")
    motion = load_motion_net(args.motion) if source == "motion" else None
    ds = VideoFolderDataset(args.data_dir, cfg.model.image_size, cache_dir=args.cache_dir, progress=report)
    labels = MotionLabels(ds, motion, trainer_device(cfg)) if motion is not None else TrackerLabels(ds)
    trainer = AnimatorTrainer(ds, labels, args.out, cfg)
    res = trainer.run(resume=not args.no_resume, progress=report)
    if res.losses:
        print(f"stage {cfg.stage}: trained steps {res.first_step + 1}..{res.last_step} on {len(ds)} clips: "
              f"loss {res.losses[0].total:.4f} -> {res.losses[-1].total:.4f}")
    else:
        print(f"nothing to do: already at step {res.last_step} (raise --max-steps to continue)")
    print(f"checkpoint: {res.checkpoint}")
    return 0


def trainer_device(cfg):  # noqa: ANN001, ANN201 - small helper
    from dexstudio.render.dex.device import pick_device

    return pick_device(None if cfg.train.device == "auto" else cfg.train.device)
