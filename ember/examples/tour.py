"""A short tour of ember's tensors and autograd (the main job until the training demo lands).

Run: ``python -m ember.examples.tour``
"""
import ember as torch


def main() -> None:
    x = torch.tensor([1, 2, 3])
    print("a tensor:", x, x.dtype, x.shape)
    w = torch.randn(3, 2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    inputs = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    for step in range(100):
        pred = inputs @ w + b
        loss = ((pred - target) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad
            b -= 0.01 * b.grad
        w.grad = None
        b.grad = None
        if step % 20 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}")
    print("final loss:", loss)


if __name__ == "__main__":
    main()
