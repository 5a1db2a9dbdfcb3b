from setuptools import find_packages, setup

setup(
    name='torch_geometric_kgrec',
    version='0.1.0',
    description='Knowledge-graph-enhanced recommendation as PyTorch Geometric building blocks',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['torch_geometric_kgrec', 'torch_geometric_kgrec.*']),
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.0',
        'torch-geometric>=2.5',
        'numpy',
        'tqdm',
    ],
    extras_require={
        'test': ['pytest', 'pytest-xdist', 'scipy'],
        'text': ['transformers'],
        'fast': ['torch-scatter', 'torch-sparse'],
        'ogb': ['ogb'],
    },
)
