"""Tests of the report's texts: header lines, their wrapping, the zoomed lesions' captions."""


def test_header_names_the_acquisition_and_warns_of_thick_slices():
    from cmb_kd.inference.report_text import header_lines

    lines = header_lines("sub-001_T2S: 2 CMB(s)", 2, (0.5, 0.5, 3.0), phase_used=False)
    assert [text for text, _ in lines] == [
        "sub-001_T2S: 2 CMB(s)",
        "2 detection(s); voxels 0.5 x 0.5 x 3 mm; magnitude only",
    ]
    thick = header_lines("t", 0, (0.9, 0.9, 6.0), phase_used=True)
    assert (
        thick[1][0].endswith("phase used")
        and thick[-1][0].startswith("warning: 6 mm slices")
        and thick[-1][1] == "orange"
    )


def test_a_zoomed_lesion_is_captioned_with_its_number_diameter_probability_and_region():
    from cmb_kd.inference import Lesion, zoom_caption

    lesion = Lesion(2, (1.0, 2.0, 3.0), (1.0, 2.0, 3.0), 12, 12.0, 4.12, 0.934)
    assert zoom_caption(lesion) == "2: 4.1 mm, p 0.93"
    assert zoom_caption(lesion, "left basal_ganglia") == "2: 4.1 mm, p 0.93, left basal ganglia"
    unknown = Lesion(1, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 1, 1.0, 1.24)
    assert zoom_caption(unknown) == "1: 1.2 mm"


def test_a_long_scan_name_without_spaces_is_wrapped_never_cut():
    from cmb_kd.inference import HEADER_CHARACTERS, wrap_header

    name = "sub-" + "x" * 200 + "_T2S: 2 CMB(s)"
    parts = wrap_header(name)
    assert len(parts) == 3 and all(len(part) <= HEADER_CHARACTERS for part in parts)
    assert "".join(parts).replace(" ", "") == name.replace(" ", "")  # every character kept
    assert wrap_header("phase used") == ["phase used"] and wrap_header("") == [""]
