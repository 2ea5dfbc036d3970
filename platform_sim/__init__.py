"""Simulator of 全国工程质量安全监管信息平台 (personnel registry + 住建部 certificate collection)."""
from platform_sim.app import create_sim_app
from platform_sim.server import RunningSimulator, embedded, serve_in_thread, shutdown_embedded

__all__ = ["create_sim_app", "serve_in_thread", "embedded", "shutdown_embedded", "RunningSimulator"]
