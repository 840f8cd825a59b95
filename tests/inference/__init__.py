"""Tests of cmb_kd.inference, one file per module."""
