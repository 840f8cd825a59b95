"""Anatomical location and burden of CMBs: a MARS atlas in MNI space, registration of a scan to the template, the
MARS region of each lesion and the scan's counts and lobar-pattern flags."""

from cmb_kd.location.atlas import ATLAS_MARGIN_MM, MarsAtlas, build_mars_atlas, load_mars_atlas
from cmb_kd.location.atlas_rules import (
    CAPSULE_MM,
    EXTERNAL_CAPSULE_X,
    JUXTACORTICAL_MM,
    PERIVENTRICULAR_MM,
    VENTRICLE_DEPTH_MM,
    central_sulcus_y,
    corpus_callosum_mask,
    insula_mask,
    lobe_codes,
    parieto_occipital_y,
    sylvian_z,
    ventricle_mask,
)
from cmb_kd.location.burden import BURDEN_CLASSES, BURDEN_COLUMNS, Burden, burden, burden_class
from cmb_kd.location.locate import LESION_LOCATION_COLUMNS, LocationResult, assign_regions, locate
from cmb_kd.location.orientation import RAS_TO_LPS, image_to_itk, itk_to_array, lps_to_ras, ras_to_lps
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
from cmb_kd.location.registration import RegistrationSettings, brain_grid, register_to_template, template_images
from cmb_kd.location.transform import TemplateTransform, transform_from_itk

__all__ = [
    "assign_regions",
    "ATLAS_MARGIN_MM",
    "brain_grid",
    "build_mars_atlas",
    "Burden",
    "burden",
    "burden_class",
    "BURDEN_CLASSES",
    "BURDEN_COLUMNS",
    "CAPSULE_MM",
    "central_sulcus_y",
    "corpus_callosum_mask",
    "EXTERNAL_CAPSULE_X",
    "image_to_itk",
    "insula_mask",
    "itk_to_array",
    "JUXTACORTICAL_MM",
    "LESION_LOCATION_COLUMNS",
    "load_mars_atlas",
    "lobe_codes",
    "locate",
    "LOCATION_CLASSES",
    "LocationResult",
    "lps_to_ras",
    "MARS_REGIONS",
    "MarsAtlas",
    "OUTSIDE",
    "parieto_occipital_y",
    "PERIVENTRICULAR_MM",
    "RAS_TO_LPS",
    "ras_to_lps",
    "REGION_CLASS",
    "region_class",
    "region_code",
    "region_name",
    "register_to_template",
    "RegistrationSettings",
    "side_of",
    "SIDES",
    "sylvian_z",
    "template_images",
    "TemplateTransform",
    "transform_from_itk",
    "VENTRICLE_DEPTH_MM",
    "ventricle_mask",
]
