"""The main job and the tour run end to end."""
from ember.examples import tour, train


def test_training_demo_learns():
    assert train.main(["--epochs", "3", "--target", "0.8"]) >= 0.8


def test_training_demo_with_workers():
    assert train.main(["--epochs", "1", "--workers", "2", "--target", "0.7"]) >= 0.7


def test_tour_runs(capsys):
    tour.main()
    assert "final loss" in capsys.readouterr().out
