"""Tests of cmb_kd.candidates, one file per module."""
