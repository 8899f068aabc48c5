"""The main job and the tour run end to end."""
from ember.examples import tour, train


def test_training_demo_learns():
    assert train.main(["--epochs", "3", "--target", "0.8"]) >= 0.8


def test_demo_checkpoint_predicts_the_same_in_torch(tmp_path):
    import numpy as np
    import torch

    import ember
    from ember.datasets import Digits
    from ember.transforms import Compose, Normalize, ToTensor

    path = tmp_path / "model.pt"
    train.main(["--epochs", "2", "--target", "0.8", "--out", str(tmp_path)])
    tnet = torch.nn.Sequential()
    tnet.fc1, tnet.fc2 = torch.nn.Linear(64, 128), torch.nn.Linear(128, 10)
    tnet.load_state_dict(torch.load(path))
    enet = train.Net()
    enet.load_state_dict(ember.load(path))
    tf = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
    x = np.stack([tf(img).numpy() for img, _ in Digits(train=False)]).reshape(-1, 64)
    with torch.no_grad():
        t_logits = tnet.fc2(torch.relu(tnet.fc1(torch.from_numpy(x)))).numpy()
    with ember.no_grad():
        e_logits = enet(ember.from_numpy(x)).numpy()
    np.testing.assert_array_equal(t_logits.argmax(1), e_logits.argmax(1))
    np.testing.assert_allclose(np.exp(e_logits).sum(1), 1, rtol=1e-5)
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_cnn_with_adam_learns():
    assert train.main(["--model", "cnn", "--optimizer", "adam", "--epochs", "2",
                       "--target", "0.85"]) >= 0.85


def test_training_demo_with_workers():
    assert train.main(["--epochs", "1", "--workers", "2", "--target", "0.7"]) >= 0.7


def test_tour_runs(capsys):
    tour.main()
    assert "final loss" in capsys.readouterr().out
