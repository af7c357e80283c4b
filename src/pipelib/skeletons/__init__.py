"""Stage skeletons: 178-keypoint 3-D skeletons in the SLRTP 2025 order, from MediaPipe Holistic shards.

Slots (the person's sides; MediaPipe index in brackets):

* 0-7 body: RShoulder, RElbow, RWrist, LShoulder, LElbow, LWrist, RHip, LHip (pose 12, 14, 16, 11,
  13, 15, 24, 23)
* 8-28 right hand, 29-49 left hand: 21 each in MediaPipe hand order (wrist, thumb 1-4, index 1-4,
  middle, ring, pinky), from ``right_hand`` / ``left_hand``
* 50-177 face: the 128 unique FaceMesh indices of ``FACEMESH_CONTOURS`` in ascending mesh index.
  SLRTP does not publish its own face slot order, and the challenge files' differs: our layout is
  ``holistic178``, theirs ``slrtp178`` (:mod:`~pipelib.skeletons.layout`); every file records which.

Coordinates (:mod:`~pipelib.skeletons.pixels`, :mod:`~pipelib.skeletons.normalise`): x, y in pixels
(normalised x * W, y * H, so the aspect ratio is right), z * W; hand z shifted so each hand's wrist
has its pose wrist's z, face z so the FaceMesh nose tip has the pose nose's z. Then each frame is
centred on its neck (mid-shoulder, x, y and z) and divided by the sequence's median image-plane
shoulder width over frames with a pose (one scale per sequence, so it does not jitter; z is left out
of the width as MediaPipe's noisiest axis). Units: shoulder widths.

Masking (:mod:`~pipelib.skeletons.gaps`): a frame without a pose is masked whole. A hand or face gap
of at most ``max_gap`` frames with tracking on both sides is filled per joint by linear
interpolation in the normalised coordinates; longer gaps and leading / trailing gaps stay masked.
Masked joints are 0. SLRTP challenge poses (manifest media ``poses``) are already normalised and
pass through unchanged. pose-format files (media ``pose_file``) are read by point name, then centred
and scaled as above, joint by joint as the file marks them (no gap interpolation; a frame without
both shoulders is masked). Every skeleton, either way, is checked: joints holding NaN/Inf are masked,
joints with a coordinate beyond ``max_abs_value`` are masked or refused (``out_of_range``), and each
video with masked joints is logged and listed in the file attribute ``input_checks``.

Config section ``skeletons`` (:class:`~pipelib.skeletons.config.SkeletonConfig`):

* ``max_gap`` (int, 5): longest hand / face gap, in frames, that is interpolated; 0 fills none
* ``scale`` ("shoulder_width"): ``shoulder_width`` as above, or ``none`` (neck-centred pixels)
* ``depth`` (true): keep z; false sets z = 0 everywhere (also for SLRTP poses)
* ``max_abs_value`` (1e4): a joint coordinate of larger magnitude is implausible
* ``out_of_range`` ("mask"): ``mask`` such joints (counted like NaN/Inf joints) or ``refuse`` (the
  job fails naming the video and file)

Modules: ``layout`` (slot tables), ``config``, ``pixels`` (Holistic -> pixel skeleton), ``normalise``,
``gaps``, ``build`` (:func:`build_skeleton`), ``write`` (:func:`write_skeletons`, one HDF5 per
dataset), ``export`` (:func:`export_slrtp`, one split of skeletons or predictions as an SLRTP ``.pt``
for the public evaluator), ``pose_io`` (skeletons as named pose-format ``.pose`` files both ways;
:func:`export_pose_files`).
"""
