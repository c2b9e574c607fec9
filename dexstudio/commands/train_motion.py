"""``dexstudio train motion DATA_DIR``: train the motion model (pose + expression encoders)."""

from __future__ import annotations

import argparse
import dataclasses

from dexstudio.commands._train_common import (
    add_common_arguments,
    config_from,
    load_config_data,
    progress_printer,
    train_overrides,
)


def register_train(train_sub: argparse._SubParsersAction) -> None:
    p = train_sub.add_parser(
        "motion", help="train the motion model (pose and expression encoders) on video clips",
        description="Train the DeX motion model on frame pairs of the clips in DATA_DIR. Writes "
                    "checkpoints, sample images and loss.csv to --out; rerun to resume.")
    add_common_arguments(p, "dexstudio-runs/motion")
    p.add_argument("--image-size", type=int, dest="image_size", help="training crop size (default 256)")
    p.add_argument("--perceptual-weights", dest="perceptual_weights",
                   help="TorchScript feature network (e.g. an exported VGG/LPIPS) for the perceptual "
                        "loss; without it the perceptual term is off")
    p.add_argument("--adversarial", type=float, help="weight of the optional adversarial loss (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dexstudio.render.dex.motion_net import MotionNetConfig
    from dexstudio.render.dex.train.data import VideoFolderDataset
    from dexstudio.render.dex.train.motion_trainer import MotionTrainConfig, MotionTrainer, load_perceptual

    data = load_config_data(args)
    if data is not None:
        cfg = config_from(MotionTrainConfig, data)
    else:
        cfg = MotionTrainConfig(model=MotionNetConfig.tiny() if args.preset == "tiny" else MotionNetConfig())
    cfg = cfg.replace_train(**train_overrides(args))
    if args.image_size:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, image_size=args.image_size))
    if args.adversarial is not None:
        cfg = dataclasses.replace(cfg, losses=dataclasses.replace(cfg.losses, adversarial=args.adversarial))
    perceptual = load_perceptual(args.perceptual_weights) if args.perceptual_weights else None
    report = progress_printer(args.quiet)
    if perceptual is None and not args.quiet:
        print("perceptual loss: off (no --perceptual-weights given; L1 + face-weighted L1 are used)")
    ds = VideoFolderDataset(args.data_dir, cfg.model.image_size, cache_dir=args.cache_dir, progress=report)
    trainer = MotionTrainer(ds, args.out, cfg, perceptual=perceptual)
    res = trainer.run(resume=not args.no_resume, progress=report)
    if res.losses:
        print(f"trained steps {res.first_step + 1}..{res.last_step} on {len(ds)} clips "
              f"({ds.total_frames} frames): loss {res.losses[0].total:.4f} -> {res.losses[-1].total:.4f}")
    else:
        print(f"nothing to do: already at step {res.last_step} (raise --max-steps to continue)")
    print(f"checkpoint: {res.checkpoint}")
    return 0
