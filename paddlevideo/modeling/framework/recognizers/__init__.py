from .recognizer_transformer import RecognizerTransformer

__all__ = ["RecognizerTransformer"]
