"""Tiny COCO person keypoints and COCO-WholeBody v1.0 sets, written by one shared person-set
writer from the stick figures of ``figures``.
"""
from .figures import render_figures
from .writers import keypoint_triplets, mask_box, mask_rle, part_box, write_coco_splits

COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                  'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
COCO_SKELETON = ([16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                 [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7])


def person_category(keypoint_names, skeleton):
    """COCO person category carrying the keypoint names and skeleton (as xtcocotools reads)."""
    return dict(id=1,
                name='person',
                supercategory='person',
                keypoints=list(keypoint_names),
                skeleton=[list(s) for s in skeleton])


def person_annotation(fig, mask):
    """The COCO fields shared by person-keypoint and whole-body annotations (the ids aside); the
    figure's mask is the segmentation (where the tokens of a trained model should gather)."""
    return dict(category_id=1,
                iscrowd=0,
                bbox=[float(v) for v in mask_box(mask)],
                area=float(mask.sum()),
                keypoints=keypoint_triplets(fig['body']),
                num_keypoints=17,
                segmentation=mask_rle(mask))


def make_person_set(out_dir, rng, num_train, num_val, ann_name, whole_body, size, max_people):
    """Shared writer of COCO keypoints and COCO-WholeBody sets."""

    def draw(i):
        img, figures = render_figures(rng, int(rng.integers(1, max_people + 1)), size, whole_body)
        return img, [
            dict(person_annotation(fig, mask), **(wholebody_fields(fig) if whole_body else {}))
            for fig, mask in figures
        ]

    return write_coco_splits(out_dir, num_train, num_val, ann_name,
                             [person_category(COCO_KEYPOINTS, COCO_SKELETON)], draw)


def make_coco_keypoints(out_dir, rng, num_train=128, num_val=32):
    """COCO person keypoints: 1-2 stick figures per 128x128 image, 17 visible keypoints."""
    return make_person_set(out_dir, rng, num_train, num_val, 'person_keypoints_{split}2017.json',
                           False, 128, 2)


def wholebody_fields(fig):
    """COCO-WholeBody's extra per-person fields: part keypoints, part boxes, validity flags."""
    fields = dict(foot_kpts=keypoint_triplets(fig['foot']),
                  foot_valid=True,
                  face_kpts=keypoint_triplets(fig['face']),
                  face_valid=True,
                  face_box=part_box(fig['face']))
    for key in ('lefthand', 'righthand'):
        fields[f'{key}_kpts'] = keypoint_triplets(fig[key])
        fields[f'{key}_box'] = part_box(fig[key])
        fields[f'{key}_valid'] = True
    return fields


def make_coco_wholebody(out_dir, rng, num_train=128, num_val=32):
    """COCO-WholeBody v1.0: one 133-keypoint figure per 192x192 image."""
    return make_person_set(out_dir, rng, num_train, num_val, 'coco_wholebody_{split}_v1.0.json',
                           True, 192, 1)
