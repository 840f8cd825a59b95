"""Anatomical location and burden of CMBs: a MARS atlas in MNI space, registration of a scan to the template, the
MARS region of each lesion and the scan's counts and lobar-pattern flags."""

from cmb_kd.location.atlas import ATLAS_MARGIN_MM, MarsAtlas, build_mars_atlas, load_mars_atlas
from cmb_kd.location.burden import BURDEN_CLASSES, BURDEN_COLUMNS, Burden, burden, burden_class
from cmb_kd.location.locate import LESION_LOCATION_COLUMNS, LocationResult, assign_regions, locate
from cmb_kd.location.regions import (
    LOCATION_CLASSES,
    MARS_REGIONS,
    OUTSIDE,
    REGION_CLASS,
    SIDES,
    region_class,
    region_code,
    region_name,
    side_of,
)
from cmb_kd.location.registration import RegistrationSettings, register_to_template
from cmb_kd.location.transform import TemplateTransform

__all__ = [
    "ATLAS_MARGIN_MM",
    "MarsAtlas",
    "build_mars_atlas",
    "load_mars_atlas",
    "BURDEN_CLASSES",
    "BURDEN_COLUMNS",
    "Burden",
    "burden",
    "burden_class",
    "LESION_LOCATION_COLUMNS",
    "LocationResult",
    "assign_regions",
    "locate",
    "LOCATION_CLASSES",
    "MARS_REGIONS",
    "OUTSIDE",
    "REGION_CLASS",
    "SIDES",
    "region_class",
    "region_code",
    "region_name",
    "side_of",
    "RegistrationSettings",
    "register_to_template",
    "TemplateTransform",
]
