"""Operations: systemd integration, health, metrics."""
