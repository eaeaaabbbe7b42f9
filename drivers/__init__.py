"""Drivers"""
