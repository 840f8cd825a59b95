"""Tests of cmb_kd.inference.report_html: the self-contained HTML page of a scan's report, read back with the
standard library's HTML parser and, where a headless Chromium is installed, rendered by it."""

import base64
import csv
import html.parser
import math
import shutil
import subprocess

import numpy as np
import pytest
from _inference_helpers import ANISOTROPIC_AFFINE

from cmb_kd.checks import spacing_of
from cmb_kd.inference import (
    FOOTER,
    LESION_COLUMNS,
    Lesion,
    OutputWriter,
    header_lines,
    lesion_table,
    render_report_html,
    report_html,
)

HOSTILE = 'sub-<script>alert("x")</script>&amp;<b>_T2S'
PNG = b"\x89PNG\r\n\x1a\n" + b"rest of a picture"


class _Page(html.parser.HTMLParser):
    """What a reader of the page sees: the title, header lines, pictures, table and footer, with their attributes."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.title, self.header, self.footer, self.sources, self.columns, self.rows = "", [], "", [], [], []
        self.tags, self.attributes, self.scripts = [], [], []
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        elif tag == "tr" and "tbody" in self._open:
            self.rows.append([])
        elif tag == "td":
            self.rows[-1].append(["", dict(attrs)])
        elif tag in ("h1", "p") and "header" in self._open:
            self.header.append("")
        elif tag == "th":
            self.columns.append("")
        if tag not in ("meta", "img", "wbr"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        self._open.pop()

    def handle_data(self, data):
        where = self._open[-1] if self._open else ""
        if where == "title":
            self.title += data
        elif where in ("h1", "p") and "header" in self._open:
            self.header[-1] += data
        elif where == "button" and "thead" in self._open:
            self.columns[-1] += data
        elif where == "td":
            self.rows[-1][-1][0] += data
        elif where == "footer":
            self.footer += data
        elif where == "script":
            self.scripts.append(data)


def _scan():
    rng = np.random.default_rng(0)
    image = rng.uniform(50, 100, (12, 14, 6)).astype(np.float32)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2, 3, 1] = mask[9, 10, 4] = 1
    mask[5:7, 5:7, 2] = 1
    probability = mask * rng.uniform(0.5, 1.0, image.shape)
    return image, mask, lesion_table(mask, ANISOTROPIC_AFFINE, probability)


def _report(tmp_path, title=HOSTILE):
    """The HTML page, picture and lesion CSV of a scan written by OutputWriter.write_scan."""
    image, mask, lesions = _scan()
    writer = OutputWriter(tmp_path)
    writer.write_scan(
        "s.nii.gz", mask, ANISOTROPIC_AFFINE, lesions, report_image=image, report_title=title, report_phase=True
    )
    with open(writer.lesions_path("s.nii.gz"), newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    page = writer.report_html_path("s.nii.gz").read_text(encoding="utf-8")
    return page, writer.report_path("s.nii.gz").read_bytes(), table, lesions


def test_page_holds_the_header_picture_table_and_footer_of_the_report(tmp_path):
    page, picture, table, lesions = _report(tmp_path, title="sub-001_T2S: 3 CMB(s)")
    read = _Page(page)
    lines = header_lines("sub-001_T2S: 3 CMB(s)", 3, spacing_of(ANISOTROPIC_AFFINE), True)  # as on the picture
    assert read.header == [text for text, _ in lines]
    assert read.title == "sub-001_T2S: 3 CMB(s)" and read.footer == FOOTER
    assert len(read.sources) == 1 and read.sources[0].startswith("data:image/png;base64,")
    assert base64.b64decode(read.sources[0].removeprefix("data:image/png;base64,")) == picture
    assert read.columns == list(LESION_COLUMNS)
    assert [[text for text, _ in row] for row in read.rows] == [list(row.values()) for row in table]
    assert len(table) == len(lesions) == 3


def test_numeric_cells_carry_their_unrounded_value_for_the_sort(tmp_path):
    page, _, _, lesions = _report(tmp_path)
    rows = _Page(page).rows
    for lesion, row in zip(lesions, rows):
        for column, (_, attributes) in zip(LESION_COLUMNS, row):
            assert float(attributes["data-value"]) == lesion.as_row()[column], column
    read = _Page(report_html([("t", "white")], [], ["n", "region", "p"], [{"n": 10, "region": "pons", "p": math.nan}]))
    assert read.rows == [[["10", {"data-value": "10"}], ["pons", {}], ["", {}]]]  # text and NaN cells sort as text


def test_a_hostile_scan_name_is_shown_as_text(tmp_path):
    page, _, _, _ = _report(tmp_path)
    read = _Page(page)
    assert read.title == HOSTILE and read.header[0] == HOSTILE
    assert "alert" not in "".join(read.scripts) and read.tags.count("script") == 1 and "b" not in read.tags
    assert "<script>alert" not in page and "&amp;amp;" in page


def test_page_loads_nothing_from_elsewhere(tmp_path):
    page, _, _, _ = _report(tmp_path)
    read = _Page(page)
    assert "http" not in page.lower().replace("http-equiv", "") and "url(" not in page
    assert not {"link", "iframe", "object", "embed"} & set(read.tags)
    assert all(value.startswith("data:") for name, value in read.attributes if name in ("src", "href"))
    assert ("content", "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'") in (
        read.attributes
    )


def test_more_header_lines_and_columns_and_several_pictures():
    rows = [{"id": 1, "region": "lobar <frontal>"}, {"id": 2}]
    header = [("scan", "white"), ("burden: mild", "#ffa500"), ("2 lobar", "orange")]
    read = _Page(report_html(header, [PNG, PNG], ["id", "region"], rows, footer="end & more"))
    assert read.header == ["scan", "burden: mild", "2 lobar"] and read.footer == "end & more"
    assert read.columns == ["id", "region"] and len(read.sources) == 2
    assert [[text for text, _ in row] for row in read.rows] == [["1", "lobar <frontal>"], ["2", ""]]
    empty = _Page(report_html(header, [PNG], list(LESION_COLUMNS), []))
    assert empty.rows == [] and empty.columns == list(LESION_COLUMNS)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"header": []}, "header: expected at least one"),
        ({"header": [("t", "red; background: url(x)")]}, r"header\[0\]: expected a \(text, CSS colour"),
        ({"header": [("t", "white"), "warning"]}, r"header\[1\]: expected a \(text, CSS colour .*, got 'warning'"),
        ({"pictures": [b"GIF89a"]}, r"pictures\[0\]: expected the bytes of a PNG file, got bytes starting b'GIF89a'"),
        ({"pictures": ["data:image/png;base64,AA"]}, r"pictures\[0\]: expected the bytes of a PNG file, got str"),
        (
            {"rows": [{"id": 1, "other": 2}]},
            r"rows\[0\]: expected keys among the columns \['id'\], got also \['other'\]",
        ),
    ],
)
def test_bad_parts_are_refused(kwargs, message):
    parts = {"header": [("t", "white")], "pictures": [PNG], "columns": ["id"], "rows": [{"id": 1}], **kwargs}
    with pytest.raises(ValueError, match=message):
        report_html(**parts)


def test_render_report_html_checks_its_lesions_and_affine():
    lesion = Lesion(1, (1.0, 2.0, 3.0), (4.0, 5.0, 6.0), 3, 1.5, 1.4)
    with pytest.raises(ValueError, match=r"lesions\[1\]: expected a Lesion \(from lesion_table\), got dict"):
        render_report_html(PNG, [lesion, {"id": 2}], np.eye(4))
    with pytest.raises(ValueError, match="affine: expected a finite, invertible 4x4"):
        render_report_html(PNG, [lesion], np.diag([1.0, 0.0, 1.0, 1.0]))
    read = _Page(render_report_html(PNG, [], np.diag([0.5, 0.5, 6.0, 1.0])))
    assert read.header[0] == "0 detection(s)" and read.header[-1].startswith("warning: 6 mm slices")


_BROWSER = next((b for b in ("chromium-headless-shell", "chromium", "google-chrome") if shutil.which(b)), None)
needs_browser = pytest.mark.skipif(_BROWSER is None, reason="no headless Chromium installed")


def _browser(*arguments: str) -> subprocess.CompletedProcess:
    command = [_BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@needs_browser
def test_a_browser_renders_the_page_with_its_picture(tmp_path):
    from PIL import Image

    page = _report(tmp_path)[0]
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    _browser("--window-size=900,1400", f"--screenshot={tmp_path / 'shot.png'}", path.as_uri())
    shot = np.asarray(Image.open(tmp_path / "shot.png").convert("L"), dtype=np.float64)
    # on the black page, the grey slices of the picture light about a quarter of the pixels; the text alone (the
    # picture missing or broken) lights about 2 %
    assert shot.shape == (1400, 900) and (shot > 40).mean() > 0.1


@needs_browser
def test_clicking_a_column_name_sorts_its_numbers_as_numbers(tmp_path):
    rows = [
        {"id": 1, "n_voxels": 10, "region": "b"},
        {"id": 2, "n_voxels": 9},
        {"id": 3, "n_voxels": 100, "region": "a"},
    ]
    page = report_html([("scan", "white")], [PNG], ["id", "n_voxels", "region"], rows)

    def order(clicks: str) -> list[str]:
        clicked = page.replace("</body>", f"<script>{clicks}</script>\n</body>")
        path = tmp_path / "sorted.html"
        path.write_text(clicked, encoding="utf-8")
        dom = _Page(_browser("--dump-dom", path.as_uri()).stdout)
        return [row[0][0] for row in dom.rows]

    click = 'document.querySelectorAll("th button")[{}].click();'
    assert order("") == ["1", "2", "3"]
    assert order(click.format(1)) == ["2", "1", "3"]  # 9 < 10 < 100, not "10" < "100" < "9"
    assert order(click.format(1) * 2) == ["3", "1", "2"]  # a second click reverses
    assert order(click.format(2)) == ["3", "1", "2"]  # text, empty last


def test_a_located_page_shows_each_lesion_region_and_the_burden():
    from _inference_helpers import fake_locate

    mask = np.zeros((8, 9, 6), dtype=np.uint8)
    mask[1, 2, 3] = 1
    lesions = lesion_table(mask, np.eye(4))
    location = fake_locate(None, None, None, [lesions[0].centroid_mm])
    read = _Page(render_report_html(PNG, lesions, np.eye(4), title="s", location=location))
    assert read.header[-1] == "location (MARS): 1 lobar, 0 deep, 0 infratentorial; burden class 1; strictly lobar"
    assert read.columns == [*LESION_COLUMNS, "region", "location_class", "side", "mni_x_mm", "mni_y_mm", "mni_z_mm"]
    assert [text for text, _ in read.rows[0]][len(LESION_COLUMNS) : len(LESION_COLUMNS) + 3] == [
        "frontal",
        "lobar",
        "right",
    ]
